"""Worker processes spoken to in JSON lines: a stage hands CPU-bound work (video encoding,
deflating frames) to processes on every core, without pickle and without sharing a GIL.

* :class:`WorkerProcess` (the stage's side): starts ``python -m <module>`` with a trimmed
  environment, sends one JSON request per line, reads one reply per request in order with a
  deadline, and turns a dead or silent worker into a :class:`~bp_sdk.errors.RetryableError`
  naming the last lines of its stderr (kept in a log file of the stage's spool folder).
* :func:`serve` (the worker's side): answers each request with ``handle(state, request)``;
  the first failure is answered ``{"ok": false, "error": ...}`` and ends the process.

Large data does not travel in the lines: requests name spool files or shared memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, Final, TypeVar

from bp_sdk.errors import PermanentError, RetryableError

ENV_KEEP: Final = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
State = TypeVar("State")


class WorkerProcess:
    """One worker process, its pipes and the requests it was sent (answered in order)."""

    def __init__(
        self,
        module: str,
        stderr_path: Path,
        what: str,
        env: Mapping[str, str] | None = None,
        noise: tuple[str, ...] = (),
        failed: str | None = None,
    ) -> None:
        """``what`` names the worker in errors ("video encoder"), ``failed`` starts the error
        of a request it answered with a failure (default "<what> failed"); stderr lines
        starting with one of ``noise`` are left out of them."""
        full = {k: os.environ[k] for k in ENV_KEEP if k in os.environ}
        full.update(env or {})
        self.what, self.noise, self.stderr_path = what, noise, stderr_path
        self.failed = failed or f"{what} failed"
        self._stderr = stderr_path.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 - a module of ours, argv, no shell
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=full,
        )
        if self.proc.stdin is None or self.proc.stdout is None:  # pragma: no cover - PIPE given
            raise RetryableError(f"could not open pipes to a {what} process")
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        self.jobs = 0  # requests sent and not yet answered
        self.buf = b""

    def send(self, msg: dict[str, Any]) -> None:
        """Send one request."""
        try:
            self.stdin.write(json.dumps(msg).encode() + b"\n")
            self.stdin.flush()
        except (BrokenPipeError, OSError):
            raise RetryableError(f"{self.what} process exited early{self.tail()}") from None
        self.jobs += 1

    def tail(self) -> str:
        """The last lines of the worker's stderr, for an error message ("" if none)."""
        try:
            text = self.stderr_path.read_bytes()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(self.noise)]
        return (": " + " | ".join(lines[-5:])) if lines else ""

    def ready(self) -> bool:
        """True when a whole reply can be read without waiting."""
        if b"\n" in self.buf:
            return True
        sel = selectors.DefaultSelector()
        sel.register(self.stdout, selectors.EVENT_READ)
        try:
            return bool(sel.select(timeout=0))
        finally:
            sel.close()

    def receive(
        self, timeout_s: float, cancelled: Callable[[], None] = lambda: None
    ) -> dict[str, Any]:
        """The next reply; ``cancelled()`` is called while waiting (it may raise)."""
        deadline = time.monotonic() + timeout_s
        sel = selectors.DefaultSelector()
        sel.register(self.stdout, selectors.EVENT_READ)
        try:
            while b"\n" not in self.buf:
                cancelled()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RetryableError(f"{self.what} gave no reply within {timeout_s:.0f} s")
                if sel.select(timeout=min(left, 1.0)):
                    chunk = os.read(self.stdout.fileno(), 1 << 16)
                    if not chunk:
                        raise RetryableError(f"{self.what} process exited early{self.tail()}")
                    self.buf += chunk
        finally:
            sel.close()
        line, self.buf = self.buf.split(b"\n", 1)
        self.jobs -= 1
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise PermanentError(f"{self.failed}: {reply.get('error', 'unknown error')}")
        return reply

    def close(self, timeout_s: float = 30.0) -> None:
        """Close its stdin (it ends) and wait for it; kill it past ``timeout_s``."""
        with contextlib.suppress(OSError):
            self.stdin.close()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout_s)
        self.stdout.close()
        self._stderr.close()


def serve(
    handle: Callable[[State | None, dict[str, Any]], tuple[State | None, dict[str, Any]]],
) -> int:
    """The worker's loop: a reply line for each request line until stdin closes (0), or
    until a request fails (its error is the reply; 1)."""
    state: State | None = None
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            state, reply = handle(state, json.loads(line))
        except Exception as exc:  # noqa: BLE001 - every failure is answered, then the process ends
            reply_err: dict[str, Any] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            out.write(json.dumps(reply_err).encode() + b"\n")
            out.flush()
            return 1
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()
    return 0
