"""The commit protocol and the job runner, run identically on ``file://`` and ``gs://``."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from bp_sdk.commit import (
    AttemptRef,
    CommitRecord,
    CommittedUnit,
    OutputWriter,
    ShardRef,
    commit,
    inputs_digest,
    load_record,
    now,
    outputs_digest,
    read_committed,
    require_committed,
)
from bp_sdk.digest import sha256_bytes, sha256_stream
from bp_sdk.errors import ExitCode, InputError, NotFoundError, PathError, PermanentError, Problem
from bp_sdk.layout import FAILURE, SUCCESS, Unit, input_dir, stage_dir
from bp_sdk.markers import FailureMarker, list_markers, permanent_marker_for, write_marker
from bp_sdk.runner import Stage, StageContext, StageResult, run_stage
from bp_sdk.settings import JobSettings
from bp_sdk.storage import Storage, join
from pydantic import Field

REPO = Path(__file__).resolve().parents[2]
SCENE, RUN, STAGE = "scene1", "r1", "widget"
DIGEST_A = inputs_digest(STAGE, {"scene.json": "a" * 64}, {})
DIGEST_B = inputs_digest(STAGE, {"scene.json": "b" * 64}, {})


def _record(writer: OutputWriter, digest: str, execution: str = "exec1", attempt: int = 0) -> CommitRecord:
    unit = writer.unit
    return CommitRecord(
        stage=unit.stage, scene_id=unit.scene, run_id=unit.run,
        shard=None if unit.shard_index is None else ShardRef(index=unit.shard_index, count=unit.shard_count or 1),
        attempt=AttemptRef(execution=execution, attempt=attempt, attempt_id=writer.attempt_id),
        attempt_dir=writer.dir, files=dict(writer.files), outputs_digest=outputs_digest(writer.files),
        inputs={"scene.json": "a" * 64}, inputs_digest=digest, params={}, settings={},
        code={"package": "test"}, committed_at=now(),
    )


def _write_attempt(storage: Storage, unit: Unit, attempt_id: str, payload: bytes = b"payload") -> OutputWriter:
    writer = OutputWriter(storage, unit, attempt_id)
    writer.write_bytes("data.bin", payload)
    writer.write_json("meta/info.json", {"n": len(payload), "unit": unit.label})
    return writer


def _committed(storage: Storage) -> tuple[CommitRecord, CommittedUnit]:
    unit = Unit(SCENE, RUN, STAGE)
    writer = _write_attempt(storage, unit, "exec1-a0")
    record = commit(storage, _record(writer, DIGEST_A))
    units = read_committed(storage, unit.scene, unit.run, unit.stage)
    assert units is not None
    return record, units[0]


# ---------------------------------------------------------------- OutputWriter


def test_output_writer_writes_into_attempt_folder(storage: Storage) -> None:
    """OutputWriter puts every file under <unit>/attempts/<attempt>/ and records size and sha256."""
    unit = Unit(SCENE, RUN, STAGE)
    writer = _write_attempt(storage, unit, "exec1-a0", b"0123456789")
    base = f"scenes/{SCENE}/runs/{RUN}/{STAGE}/attempts/exec1-a0"
    assert writer.dir == base
    assert [i.path for i in storage.list("")] == [f"{base}/data.bin", f"{base}/meta/info.json"]
    assert writer.files["data.bin"].size == 10
    assert writer.files["data.bin"].sha256 == sha256_bytes(b"0123456789")
    info = storage.read_bytes(f"{base}/meta/info.json")
    assert writer.files["meta/info.json"].sha256 == sha256_bytes(info)
    assert json.loads(info) == {"n": 10, "unit": STAGE}


def test_output_writer_streams_big_files(storage: Storage) -> None:
    """OutputWriter.open streams a >8 MiB file; the recorded digest is that of the stored bytes."""
    writer = OutputWriter(storage, Unit(SCENE, RUN, STAGE), "exec1-a0")
    chunk = bytes(range(256)) * 4096  # 1 MiB
    with writer.open("big.bin") as f:
        for _ in range(9):
            f.write(chunk)
        f.write(b"tail")
    with storage.open_read(join(writer.dir, "big.bin")) as f:
        digest, size = sha256_stream(f)
    assert (writer.files["big.bin"].sha256, writer.files["big.bin"].size) == (digest, size)
    assert size == 9 * len(chunk) + 4


def _fail_half_way(writer: OutputWriter) -> None:
    with writer.open("partial.bin") as f:
        f.write(b"some bytes")
        raise ValueError("half way")


def test_output_writer_failed_file_is_not_recorded(storage: Storage) -> None:
    """A file whose write block raises is neither stored nor recorded."""
    writer = OutputWriter(storage, Unit(SCENE, RUN, STAGE), "exec1-a0")
    with pytest.raises(ValueError, match="half"):
        _fail_half_way(writer)
    assert writer.files == {}
    assert list(storage.list("")) == []


def test_output_writer_refuses_reserved_and_unsafe_names(storage: Storage) -> None:
    """Reserved names (_SUCCESS.json, _FAILURE.json) and unsafe paths are refused, nothing written."""
    writer = OutputWriter(storage, Unit(SCENE, RUN, STAGE), "exec1-a0")
    for name in [SUCCESS, FAILURE, f"sub/{SUCCESS}"]:
        with pytest.raises(ValueError, match="reserved"):
            writer.write_bytes(name, b"x")
    for name in ["../escape", "/abs", "a//b", "a\\b"]:
        with pytest.raises(PathError):
            writer.write_bytes(name, b"x")
    assert writer.files == {}
    assert list(storage.list("")) == []


# ---------------------------------------------------------------- commit and read


def test_nothing_is_committed_before_commit(storage: Storage) -> None:
    """Attempt files alone are invisible: read_committed and load_record give None."""
    unit = Unit(SCENE, RUN, STAGE)
    _write_attempt(storage, unit, "exec1-a0")
    assert read_committed(storage, SCENE, RUN, STAGE) is None
    assert load_record(storage, unit) is None
    with pytest.raises(PermanentError, match="no commit record"):
        require_committed(storage, SCENE, RUN, STAGE)


def test_commit_makes_files_readable_and_verified(storage: Storage) -> None:
    """After commit, read_committed returns the record and read_bytes hands out verified files."""
    unit = Unit(SCENE, RUN, STAGE)
    writer = _write_attempt(storage, unit, "exec1-a0", b"committed bytes")
    record = _record(writer, DIGEST_A)
    assert commit(storage, record) is record
    assert storage.read_bytes(unit.commit_path) == record.to_bytes()
    units = read_committed(storage, SCENE, RUN, STAGE)
    assert units is not None
    assert len(units) == 1
    assert units[0].record == record
    assert units[0].read_bytes("data.bin") == b"committed bytes"
    assert units[0].read_json("meta/info.json") == {"n": 15, "unit": STAGE}
    with units[0].open("data.bin") as f:
        assert f.read() == b"committed bytes"
    assert require_committed(storage, SCENE, RUN, STAGE).record == record


def test_committed_unit_refuses_names_not_in_record(storage: Storage) -> None:
    """A stray file in the attempt folder that the record does not list is NotFoundError."""
    _, unit = _committed(storage)
    storage.write_bytes(join(unit.record.attempt_dir, "stray.bin"), b"added later")
    with pytest.raises(NotFoundError, match=re.escape("committed no file 'stray.bin'")):
        unit.read_bytes("stray.bin")
    with pytest.raises(NotFoundError), unit.open("stray.bin"):
        pytest.fail("open of an unlisted file must raise")


@pytest.mark.parametrize("tamper", ["different-size", "same-size"])
def test_tampered_committed_file_is_a_permanent_error(storage: Storage, tamper: str) -> None:
    """Overwriting a committed file (other size, or same size other bytes) makes read_bytes raise."""
    _rec, unit = _committed(storage)
    key = join(unit.record.attempt_dir, "data.bin")
    original = storage.read_bytes(key)
    forged = b"forged content, longer" if tamper == "different-size" else bytes([original[0] ^ 1]) + original[1:]
    storage.write_bytes(key, forged)
    with pytest.raises(PermanentError, match="does not match its commit record"):
        unit.read_bytes("data.bin")
    assert unit.read_json("meta/info.json")["unit"] == STAGE  # untouched files still verify


def test_deleted_committed_file_is_not_found(storage: Storage) -> None:
    """A committed file deleted from storage reads as NotFoundError (a permanent error)."""
    _rec, unit = _committed(storage)
    storage.delete(join(unit.record.attempt_dir, "data.bin"))
    with pytest.raises(NotFoundError):
        unit.read_bytes("data.bin")


def test_second_commit_with_same_inputs_returns_the_winner(storage: Storage) -> None:
    """A later commit for the same unit and inputs returns the existing record; storage is unchanged."""
    unit = Unit(SCENE, RUN, STAGE)
    first = commit(storage, _record(_write_attempt(storage, unit, "exec1-a0"), DIGEST_A))
    stored = storage.read_bytes(unit.commit_path)
    late = _record(_write_attempt(storage, unit, "exec2-a0", b"other bytes"), DIGEST_A, execution="exec2")
    winner = commit(storage, late)
    assert winner is not late
    assert winner == first
    assert winner.attempt.attempt_id == "exec1-a0"
    assert storage.read_bytes(unit.commit_path) == stored
    units = read_committed(storage, SCENE, RUN, STAGE)
    assert units is not None
    assert units[0].read_bytes("data.bin") == b"payload"


def test_concurrent_commits_agree_on_one_winner(
    storage: Storage, open_same: Callable[[str], Storage]
) -> None:
    """Attempts committing the same unit at once all get the one winning record."""
    unit = Unit(SCENE, RUN, STAGE)
    handles = [open_same(storage.uri) for _ in range(6)]
    records = [
        _record(_write_attempt(h, unit, f"exec{i}-a0", f"attempt {i}".encode()), DIGEST_A, execution=f"exec{i}")
        for i, h in enumerate(handles)
    ]
    barrier = threading.Barrier(len(handles))

    def attempt(i: int) -> CommitRecord:
        barrier.wait(timeout=30)
        return commit(handles[i], records[i])

    with ThreadPoolExecutor(len(handles)) as pool:
        winners = list(pool.map(attempt, range(len(handles)), timeout=120))
    assert len({w.attempt.attempt_id for w in winners}) == 1
    assert sum(w is r for w, r in zip(winners, records, strict=True)) == 1
    units = read_committed(storage, SCENE, RUN, STAGE)
    assert units is not None
    assert units[0].record == winners[0]
    assert units[0].read_bytes("data.bin") == f"attempt {winners[0].attempt.execution[4:]}".encode()


def test_second_commit_with_other_inputs_is_a_permanent_error(storage: Storage) -> None:
    """A commit for the same unit with a different inputs digest raises PermanentError (run id reuse)."""
    unit = Unit(SCENE, RUN, STAGE)
    commit(storage, _record(_write_attempt(storage, unit, "exec1-a0"), DIGEST_A))
    stored = storage.read_bytes(unit.commit_path)
    with pytest.raises(PermanentError, match="different inputs") as info:
        commit(storage, _record(_write_attempt(storage, unit, "exec2-a0"), DIGEST_B, execution="exec2"))
    assert info.value.exit_code == ExitCode.PERMANENT
    assert "RUN_ID" in info.value.next_step
    assert storage.read_bytes(unit.commit_path) == stored


def test_malformed_commit_record_is_a_permanent_error(storage: Storage) -> None:
    """A commit record that does not validate makes read_committed raise PermanentError."""
    unit = Unit(SCENE, RUN, STAGE)
    storage.write_bytes(unit.commit_path, b'{"schema": "bp.commit/v1", "stage": 1}')
    with pytest.raises(PermanentError, match="malformed"):
        read_committed(storage, SCENE, RUN, STAGE)


# ---------------------------------------------------------------- shards


def test_sharded_stage_is_committed_only_when_every_shard_is(storage: Storage) -> None:
    """read_committed is None until all N shard records exist, then gives N units in shard order."""
    count = 3
    shards = [Unit(SCENE, RUN, STAGE, i, count) for i in range(count)]
    assert shards[1].dir == f"{stage_dir(SCENE, RUN, STAGE)}/shards/00001-of-00003"
    writers = [_write_attempt(storage, u, "exec1-a0", f"shard {u.shard_index}".encode()) for u in shards]
    assert read_committed(storage, SCENE, RUN, STAGE) is None
    for i in (2, 0):
        commit(storage, _record(writers[i], DIGEST_A))
        assert read_committed(storage, SCENE, RUN, STAGE) is None
    commit(storage, _record(writers[1], DIGEST_A))
    units = read_committed(storage, SCENE, RUN, STAGE)
    assert units is not None
    assert [u.record.shard for u in units] == [ShardRef(index=i, count=count) for i in range(count)]
    assert [u.read_bytes("data.bin") for u in units] == [b"shard 0", b"shard 1", b"shard 2"]


def test_sharded_stage_with_unstarted_shards_is_not_committed(storage: Storage) -> None:
    """Shards that never wrote anything still count: one committed shard of 3 is not a commit."""
    only = Unit(SCENE, RUN, STAGE, 0, 3)
    commit(storage, _record(_write_attempt(storage, only, "exec1-a0"), DIGEST_A))
    assert read_committed(storage, SCENE, RUN, STAGE) is None


# ---------------------------------------------------------------- failure markers


def _marker(attempt_id: str, *, permanent: bool, digest: str | None, minutes: int) -> FailureMarker:
    return FailureMarker(
        error_type="InputError" if permanent else "StorageError", message=f"failed in {attempt_id}",
        permanent=permanent, exit_code=3 if permanent else 1, stage=STAGE, scene_id=SCENE, run_id=RUN,
        execution=attempt_id.rsplit("-a", 1)[0], attempt=0, attempt_id=attempt_id,
        inputs_digest=digest, next_step="fix it", failed_at=now() - timedelta(minutes=minutes),
    )


def test_failure_markers_round_trip_and_sort_by_time(storage: Storage) -> None:
    """write_marker stores _FAILURE.json in the attempt; list_markers returns them oldest first."""
    unit = Unit(SCENE, RUN, STAGE)
    newer = _marker("exec-a-a0", permanent=False, digest=DIGEST_A, minutes=1)
    older = _marker("exec-z-a0", permanent=True, digest=DIGEST_A, minutes=10)
    path = write_marker(storage, unit, newer)
    assert path == f"{unit.attempt_dir('exec-a-a0')}/{FAILURE}"
    write_marker(storage, unit, older)
    assert list_markers(storage, unit) == [older, newer]
    assert json.loads(storage.read_bytes(path))["schema"] == "bp.failure/v1"


def test_damaged_markers_and_marker_less_attempts_are_ignored(storage: Storage) -> None:
    """An attempt without a marker, or with an unreadable one, never breaks list_markers."""
    unit = Unit(SCENE, RUN, STAGE)
    _write_attempt(storage, unit, "exec-ok-a0")
    storage.write_bytes(unit.failure_path("exec-bad-a0"), b"{not json")
    storage.write_bytes(unit.failure_path("exec-foreign-a0"), b'{"schema": "other"}')
    good = _marker("exec-good-a0", permanent=True, digest=DIGEST_A, minutes=0)
    write_marker(storage, unit, good)
    assert list_markers(storage, unit) == [good]
    assert list_markers(storage, Unit(SCENE, RUN, "other")) == []


def test_permanent_marker_for_matches_inputs_and_permanence(storage: Storage) -> None:
    """permanent_marker_for returns the newest permanent marker with the same inputs digest only."""
    unit = Unit(SCENE, RUN, STAGE)
    write_marker(storage, unit, _marker("exec-t-a0", permanent=False, digest=DIGEST_A, minutes=1))
    assert permanent_marker_for(storage, unit, DIGEST_A) is None
    old = _marker("exec-p1-a0", permanent=True, digest=DIGEST_A, minutes=30)
    new = _marker("exec-p2-a0", permanent=True, digest=DIGEST_A, minutes=20)
    write_marker(storage, unit, new)
    write_marker(storage, unit, old)
    write_marker(storage, unit, _marker("exec-o-a0", permanent=True, digest=DIGEST_B, minutes=5))
    assert permanent_marker_for(storage, unit, DIGEST_A) == new
    assert permanent_marker_for(storage, unit, "0" * 64) is None


def test_write_marker_replaces_the_attempts_marker(storage: Storage) -> None:
    """A second marker for the same attempt replaces the first."""
    unit = Unit(SCENE, RUN, STAGE)
    write_marker(storage, unit, _marker("exec-x-a0", permanent=False, digest=DIGEST_A, minutes=2))
    second = _marker("exec-x-a0", permanent=True, digest=DIGEST_A, minutes=1)
    write_marker(storage, unit, second)
    assert list_markers(storage, unit) == [second]


# ---------------------------------------------------------------- runner end to end


class EchoSettings(JobSettings):
    """Settings of the test stage: one output-affecting parameter."""

    stage_name: ClassVar[str] = "echo"
    greeting: str = Field(default="hello", description="Written into the output.")


class EchoStage(Stage[EchoSettings]):
    """Reads the scene's input and writes a greeting; raises when told to."""

    name = "echo"
    distribution = "bp-sdk"
    settings_cls = EchoSettings
    sharded = False

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.runs = 0

    def inputs(self, settings: EchoSettings, storage: Storage) -> dict[str, str]:
        """Digest of the scene's input file."""
        return {"scene.json": sha256_bytes(storage.read_bytes(join(input_dir(settings.scene_id), "scene.json")))}

    def run(self, ctx: StageContext[EchoSettings]) -> StageResult:
        """Write greeting.txt and summary.json, or raise ``self.fail`` half way."""
        self.runs += 1
        ctx.output.write_bytes("greeting.txt", f"{ctx.settings.greeting} {ctx.settings.scene_id}".encode())
        ctx.partial["written"] = 1
        if self.fail is not None:
            raise self.fail
        ctx.output.write_json("summary.json", {"greeting": ctx.settings.greeting})
        return StageResult(summary={"files": 2}, seeds={"main": 7})


def _value_error() -> ValueError:
    """A non-SDK error whose message holds an absolute path of this machine."""
    return ValueError(f"cannot parse {REPO / 'secret' / 'model.bin'}")


def _input_error() -> InputError:
    return InputError("the blueprint is invalid", problems=[Problem("objects[0]", "bad size")])


class ShardedEchoStage(EchoStage):
    """The same stage, one unit per Cloud Run task."""

    sharded = True


@pytest.fixture
def scene_input(storage: Storage) -> Storage:
    """The storage with scenes/scene1/input/scene.json in it."""
    storage.write_bytes(join(input_dir(SCENE), "scene.json"), b'{"objects": []}')
    return storage


def _env(storage: Storage, execution: str, **extra: str) -> dict[str, str]:
    env = {"STORAGE_URI": storage.uri, "SCENE_ID": SCENE, "RUN_ID": RUN, "LOG_FORMAT": "json",
           "CLOUD_RUN_EXECUTION": execution}
    env.update(extra)
    return env


def _log_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_run_stage_commits_then_skips_same_inputs(scene_input: Storage, capsys: pytest.CaptureFixture[str]) -> None:
    """run_stage commits; a re-run with the same inputs exits 0 without running and leaves the record."""
    storage, stage, unit = scene_input, EchoStage(), Unit(SCENE, RUN, "echo")
    assert run_stage(stage, environ=_env(storage, "exec1")) == ExitCode.OK
    record_bytes = storage.read_bytes(unit.commit_path)
    units = read_committed(storage, SCENE, RUN, "echo")
    assert units is not None
    record = units[0].record
    assert record.attempt.attempt_id == "exec1-a0"
    assert record.attempt_dir == unit.attempt_dir("exec1-a0")
    assert sorted(record.files) == ["greeting.txt", "summary.json"]
    assert record.params == {"GREETING": "hello"}
    assert (record.summary, record.seeds) == ({"files": 2}, {"main": 7})
    assert units[0].read_bytes("greeting.txt") == b"hello scene1"
    capsys.readouterr()

    assert run_stage(stage, environ=_env(storage, "exec2")) == ExitCode.OK
    assert stage.runs == 1
    assert storage.read_bytes(unit.commit_path) == record_bytes
    assert storage.list_dirs(join(unit.dir, "attempts") + "/") == ["exec1-a0"]
    lines = _log_lines(capsys.readouterr().err)
    assert any(line.get("skipped") is True for line in lines), lines


def test_run_stage_reusing_run_id_with_other_inputs_exits_3(scene_input: Storage) -> None:
    """Other parameters, or other input bytes, under a committed run id: exit 3 and a permanent marker."""
    storage, stage, unit = scene_input, EchoStage(), Unit(SCENE, RUN, "echo")
    assert run_stage(stage, environ=_env(storage, "exec1")) == ExitCode.OK
    record_bytes = storage.read_bytes(unit.commit_path)

    assert run_stage(stage, environ=_env(storage, "exec2", GREETING="bye")) == ExitCode.PERMANENT
    storage.write_bytes(join(input_dir(SCENE), "scene.json"), b'{"objects": [1]}')
    assert run_stage(stage, environ=_env(storage, "exec3")) == ExitCode.PERMANENT
    assert stage.runs == 1
    assert storage.read_bytes(unit.commit_path) == record_bytes
    markers = {m.attempt_id: m for m in list_markers(storage, unit)}
    assert sorted(markers) == ["exec2-a0", "exec3-a0"]
    for m in markers.values():
        assert (m.permanent, m.exit_code, m.error_type) == (True, 3, "PermanentError")
        assert "different inputs" in m.message
    assert markers["exec2-a0"].params["GREETING"] == "bye"


def test_run_stage_failure_writes_a_sanitised_marker(scene_input: Storage, tmp_path: Path) -> None:
    """A stage that raises: exit 1, no commit, and a retryable marker with a path-free traceback."""
    storage, stage, unit = scene_input, EchoStage(fail=_value_error()), Unit(SCENE, RUN, "echo")
    code = run_stage(stage, environ=_env(storage, "exec9", CLOUD_RUN_TASK_ATTEMPT="2"))
    assert code == ExitCode.RETRYABLE
    assert read_committed(storage, SCENE, RUN, "echo") is None
    marker = FailureMarker.model_validate_json(storage.read_bytes(unit.failure_path("exec9-a2")))
    assert (marker.permanent, marker.exit_code, marker.error_type) == (False, 1, "ValueError")
    assert (marker.stage, marker.scene_id, marker.run_id) == ("echo", SCENE, RUN)
    assert (marker.execution, marker.attempt, marker.attempt_id) == ("exec9", 2, "exec9-a2")
    assert marker.inputs_digest is not None
    assert marker.params == {"GREETING": "hello"}
    assert marker.partial_results == {"written": 1}
    assert marker.code["package"] == "bp-sdk"
    assert marker.next_step
    tb = marker.traceback
    assert "ValueError: cannot parse <path>/model.bin" in tb
    assert "bp_sdk/runner.py" in tb
    assert "test_commit_contract.py" in tb
    assert re.search(r'File "(?:[A-Za-z]:)?[/\\]', tb) is None, tb
    for place in {str(REPO), str(tmp_path), str(Path.home()), sys.prefix, sys.base_prefix}:
        assert place not in tb, place


def test_run_stage_retry_after_transient_failure_commits(scene_input: Storage) -> None:
    """After a retryable failure, the next attempt commits; the old marker stays, the commit outranks it."""
    storage, unit = scene_input, Unit(SCENE, RUN, "echo")
    assert run_stage(EchoStage(fail=_value_error()), environ=_env(storage, "exec1")) == ExitCode.RETRYABLE
    env = _env(storage, "exec1", CLOUD_RUN_TASK_ATTEMPT="1")
    assert run_stage(EchoStage(), environ=env) == ExitCode.OK
    units = read_committed(storage, SCENE, RUN, "echo")
    assert units is not None
    assert units[0].record.attempt.attempt_id == "exec1-a1"
    assert [m.attempt_id for m in list_markers(storage, unit)] == ["exec1-a0"]


def test_run_stage_permanent_failure_is_not_retried(scene_input: Storage) -> None:
    """An InputError exits 3 with a permanent marker; the same inputs then stop at once (exit 3,
    no work), recording the same reason in the retry's own attempt."""
    storage, stage, unit = scene_input, EchoStage(fail=_input_error()), Unit(SCENE, RUN, "echo")
    assert run_stage(stage, environ=_env(storage, "exec1")) == ExitCode.PERMANENT
    marker = FailureMarker.model_validate_json(storage.read_bytes(unit.failure_path("exec1-a0")))
    assert (marker.permanent, marker.exit_code, marker.error_type) == (True, 3, "InputError")
    assert marker.problems == ["objects[0]: bad size"]
    assert run_stage(stage, environ=_env(storage, "exec2")) == ExitCode.PERMANENT
    assert stage.runs == 1
    markers = list_markers(storage, unit)
    assert [m.attempt_id for m in markers] == ["exec1-a0", "exec2-a0"]  # the retry's own marker
    assert markers[1].message == markers[0].message and markers[1].permanent
    assert read_committed(storage, SCENE, RUN, "echo") is None


def test_run_stage_config_error_exits_2_without_writing(storage: Storage) -> None:
    """Missing SCENE_ID and a bad RUN_ID: exit 2 before any storage access."""
    env = {"STORAGE_URI": storage.uri, "RUN_ID": "bad/run", "LOG_FORMAT": "json"}
    assert run_stage(EchoStage(), environ=env) == ExitCode.CONFIG
    assert list(storage.list("")) == []


def test_run_stage_sharded_commits_each_shard(scene_input: Storage) -> None:
    """A sharded stage commits one record per task; read_committed waits for the last shard."""
    storage, stage = scene_input, ShardedEchoStage()
    for index in (1, 0):
        env = _env(storage, "exec1", CLOUD_RUN_TASK_INDEX=str(index), CLOUD_RUN_TASK_COUNT="3")
        assert run_stage(stage, environ=env) == ExitCode.OK
        assert read_committed(storage, SCENE, RUN, "echo") is None
    env = _env(storage, "exec1", CLOUD_RUN_TASK_INDEX="2", CLOUD_RUN_TASK_COUNT="3")
    assert run_stage(stage, environ=env) == ExitCode.OK
    units = read_committed(storage, SCENE, RUN, "echo")
    assert units is not None
    assert [u.record.shard for u in units] == [ShardRef(index=i, count=3) for i in range(3)]
    assert all(u.read_bytes("greeting.txt") == b"hello scene1" for u in units)
    assert hashlib.sha256(units[2].read_bytes("summary.json")).hexdigest() == units[2].record.files["summary.json"].sha256


def test_failed_attempt_of_another_split_does_not_hide_a_complete_stage(storage) -> None:
    """A shard folder of another task count holding only a failure leaves the complete split readable."""
    from bp_sdk.markers import FailureMarker, write_marker

    for i in range(2):
        unit = Unit("s", "r", "sharded", i, 2)
        writer = OutputWriter(storage, unit, f"e-a{i}")
        writer.write_bytes("x.json", b"{}")
        commit(storage, _record(writer, DIGEST_A))
    other = Unit("s", "r", "sharded", 0, 1)
    write_marker(storage, other, FailureMarker(
        error_type="ConfigError", message="bad", permanent=True, exit_code=2, stage="sharded", scene_id="s",
        run_id="r", execution="e", attempt=0, attempt_id="e-a0", next_step="fix", failed_at=now()))
    units = read_committed(storage, "s", "r", "sharded")
    assert units is not None and len(units) == 2
