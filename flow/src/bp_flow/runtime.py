"""What functions and connectors may touch of the running execution: its clock,
environment and log. Tests give a :class:`FakeClock` so retry delays and ``sys.sleep``
cost no time and can be asserted exactly."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class Clock(Protocol):
    """Wall time in seconds since the epoch, and sleeping."""

    def now(self) -> float:
        """Seconds since the Unix epoch (``sys.now()``)."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (``sys.sleep``, retry back-off)."""


class RealClock:
    """The machine's clock."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """``time.sleep``."""
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that only moves when slept on; records every sleep (thread-safe)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The fake time."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Advance the fake time by ``seconds`` at once."""
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(0.0, seconds)


class LogSink(Protocol):
    """Where ``sys.log`` writes."""

    def __call__(self, severity: str, data: Any) -> None:
        """Log ``data`` (any workflow value) at ``severity``."""


def _default_sink(severity: str, data: Any) -> None:
    level = logging.getLevelName(severity.upper())
    logging.getLogger("bp.flow.sys.log").log(
        level if isinstance(level, int) else logging.INFO,
        "%s",
        data,
        extra={"fields": {"workflow_log": data}},
    )


@dataclass
class Runtime:
    """The execution-wide context shared by every function and connector call.

    ``env`` is what ``sys.get_env`` reads: the built-in ``GOOGLE_CLOUD_*`` variables
    and the workflow's user-defined environment variables.
    """

    env: Mapping[str, str] = field(default_factory=dict)
    clock: Clock = field(default_factory=RealClock)
    log: LogSink = _default_sink
